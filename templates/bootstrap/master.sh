#!/bin/bash
# kubeaz control plane of {{CLUSTER_ID}}: one instance in an auto scaling group of min=max=1. A rebuilt
# master takes the cluster's identity (CAs, service-account keys) from s3://{{BUCKET}}/pki/ and its
# state from the newest valid etcd snapshot in s3://{{BUCKET}}/etcd/, then kubeadm builds the rest.
set -euo pipefail
KUBEAZ_DIR="${KUBEAZ_DIR:-${KUBEAZ_ROOT:-}/opt/kubeaz}"
# shellcheck source=/dev/null
. "$KUBEAZ_DIR/common.sh"
set -a
# shellcheck source=/dev/null
. "$KUBEAZ_DIR/cluster.env"
set +a

HELM_VERSION="{{HELM_VERSION}}"

arch_go() { case "$(uname -m)" in aarch64 | arm64) echo arm64 ;; *) echo amd64 ;; esac; }

# download URL SHA256 DEST: fetch and check against a published digest.
verified_download() {
  curl -fsSL --retry 5 -o "$3" "$1"
  echo "$2  $3" | sha256sum -c - >/dev/null || die "checksum mismatch for $1"
}

install_helm() {
  command -v helm >/dev/null && return 0
  local a tmp sum
  a="$(arch_go)"
  tmp="$(mktemp -d)"
  sum="$(curl -fsSL --retry 5 "https://get.helm.sh/helm-v$HELM_VERSION-linux-$a.tar.gz.sha256sum" | cut -d' ' -f1)"
  verified_download "https://get.helm.sh/helm-v$HELM_VERSION-linux-$a.tar.gz" "$sum" "$tmp/helm.tgz"
  tar -xzf "$tmp/helm.tgz" -C "$tmp"
  install -m 0755 "$tmp/linux-$a/helm" "$BIN_DIR/helm"
  rm -rf "$tmp"
}

# The etcd that kubeadm runs for this Kubernetes version (its etcd image tag, e.g. 3.6.6-0 → 3.6.6):
# the backup and restore tools must match it, so they are derived from kubeadm, never pinned apart.
etcd_version() {
  local v
  v="$(kubeadm config images list --kubernetes-version "v{{KUBERNETES_VERSION}}" 2>/dev/null |
    sed -n 's#^.*/etcd:\([0-9][0-9]*\.[0-9][0-9]*\.[0-9][0-9]*\)-[0-9][0-9]*$#\1#p' | head -n1)"
  [ -n "$v" ] || die "kubeadm config images list names no etcd image for v{{KUBERNETES_VERSION}}"
  printf '%s\n' "$v"
}

install_etcd_tools() {
  local want have a tmp base sum
  want="$(etcd_version)"
  have="$(etcdutl version 2>/dev/null | sed -n 's/^etcdutl version: //p' || true)"
  if [ "$have" = "$want" ] && command -v etcdctl >/dev/null; then
    log "etcd tools $want (as kubeadm's etcd) already installed"
    return 0
  fi
  log "installing etcdctl and etcdutl $want (the etcd kubeadm runs for v{{KUBERNETES_VERSION}})"
  a="$(arch_go)"
  tmp="$(mktemp -d)"
  base="https://github.com/etcd-io/etcd/releases/download/v$want"
  sum="$(curl -fsSL --retry 5 "$base/SHA256SUMS" | awk -v f="etcd-v$want-linux-$a.tar.gz" '$2 == f { print $1 }')"
  [ -n "$sum" ] || die "no published checksum for etcd v$want ($a)"
  verified_download "$base/etcd-v$want-linux-$a.tar.gz" "$sum" "$tmp/etcd.tgz"
  tar -xzf "$tmp/etcd.tgz" -C "$tmp" --strip-components=1
  mkdir -p "$BIN_DIR"
  install -m 0755 "$tmp/etcdctl" "$tmp/etcdutl" "$BIN_DIR/"
  rm -rf "$tmp"
}

# The cluster's identity: without it a rebuilt master would mint new CAs and orphan every node.
fetch_pki() {
  mkdir -p "$PKI_DIR/etcd"
  chmod 0700 "$PKI_DIR"
  local f
  for f in ca.crt ca.key etcd/ca.crt etcd/ca.key front-proxy-ca.crt front-proxy-ca.key sa.key sa.pub; do
    retry 5 s3_get "pki/$f" "$PKI_DIR/$f" || die "s3://$BUCKET/pki/$f is missing: the cluster's CAs must be in the bucket"
    case "$f" in *.key) chmod 0600 "$PKI_DIR/$f" ;; *) chmod 0644 "$PKI_DIR/$f" ;; esac
  done
}

# master.{{INTERNAL_DOMAIN}} is normally an alias to the internal API load balancer (made by kubeaz).
# Only when no alias exists does the master point the name at itself.
register_dns() {
  local zone alias
  zone="$(aws route53 list-hosted-zones-by-name --dns-name "{{INTERNAL_DOMAIN}}." \
    --query "HostedZones[?Name=='{{INTERNAL_DOMAIN}}.' && Config.PrivateZone].Id | [0]" --output text)"
  if [ -z "$zone" ] || [ "$zone" = None ]; then
    log "no private zone {{INTERNAL_DOMAIN}}; not registering $MASTER_DNS"
    return 0
  fi
  alias="$(aws route53 list-resource-record-sets --hosted-zone-id "$zone" --start-record-name "$MASTER_DNS." --start-record-type A \
    --query "ResourceRecordSets[?Name=='$MASTER_DNS.' && Type=='A'].AliasTarget.DNSName | [0]" --output text)"
  if [ -n "$alias" ] && [ "$alias" != None ]; then
    log "$MASTER_DNS is an alias to $alias; leaving it"
    return 0
  fi
  log "pointing $MASTER_DNS at $PRIVATE_IP"
  aws route53 change-resource-record-sets --hosted-zone-id "$zone" --change-batch \
    "{\"Changes\":[{\"Action\":\"UPSERT\",\"ResourceRecordSet\":{\"Name\":\"$MASTER_DNS.\",\"Type\":\"A\",\"TTL\":60,\"ResourceRecords\":[{\"Value\":\"$PRIVATE_IP\"}]}}]}" >/dev/null
}

kubeadm_api_version() {
  local minor
  minor="$(echo "{{KUBERNETES_MINOR}}" | cut -d. -f2)"
  if [ "$minor" -ge 31 ]; then echo kubeadm.k8s.io/v1beta4; else echo kubeadm.k8s.io/v1beta3; fi
}

write_kubeadm_config() {
  local api
  api="$(kubeadm_api_version)"
  cat >"$K8S_DIR/kubeadm.yaml" <<CONFIG
apiVersion: $api
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: $PRIVATE_IP
  bindPort: 6443
nodeRegistration:
  name: $NODE_NAME
  criSocket: unix:///run/containerd/containerd.sock
  taints:
    - key: node-role.kubernetes.io/control-plane
      effect: NoSchedule
{{HOOK_KUBEADM_PATCHES}}---
apiVersion: $api
kind: ClusterConfiguration
clusterName: {{CLUSTER_ID}}
kubernetesVersion: v{{KUBERNETES_VERSION}}
controlPlaneEndpoint: {{MASTER_DNS}}:443
networking:
  podSubnet: {{POD_CIDR}}
  serviceSubnet: {{SERVICE_CIDR}}
apiServer:
  certSANs:
{{API_CERT_SANS}}
    - $PRIVATE_IP
etcd:
  local:
    dataDir: /var/lib/etcd
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
CONFIG
}

helm_kube() { helm --kubeconfig "$ADMIN_KUBECONFIG" "$@"; }
kubectl_admin() { kubectl --kubeconfig "$ADMIN_KUBECONFIG" "$@"; }

# Add-ons. The instance metadata hop limit stays 1 everywhere: pods on the pod network cannot reach
# IMDS (no stolen node credentials), so what needs IMDS runs with hostNetwork on the master, whose
# instance role carries the cloud-controller and EBS CSI permissions. Versions: src/model/versions.ts.
# Each step is one function that fails as a whole (every command chained), so `retry` can run it again.
addon_cilium() {
  helm_kube upgrade --install cilium cilium --repo https://helm.cilium.io --version "{{CILIUM_VERSION}}" \
    --namespace kube-system \
    --set routingMode=tunnel --set tunnelProtocol=vxlan --set ipam.mode=kubernetes \
    --set k8sServiceHost="$MASTER_DNS" --set k8sServicePort=443 --set operator.replicas=1
}
addon_cloud_controller_manager() {
  helm_kube upgrade --install aws-cloud-controller-manager aws-cloud-controller-manager \
    --repo https://kubernetes.github.io/cloud-provider-aws --version "{{AWS_CCM_CHART_VERSION}}" \
    --namespace kube-system --set hostNetworking=true --set image.tag="{{AWS_CCM_IMAGE_TAG}}" \
    --set-json 'args=["--v=2","--cloud-provider=aws","--configure-cloud-routes=false","--cluster-name={{CLUSTER_ID}}"]' \
    --set-json 'nodeSelector={"node-role.kubernetes.io/control-plane":""}'
}
addon_ebs_csi() {
  helm_kube upgrade --install aws-ebs-csi-driver aws-ebs-csi-driver \
    --repo https://kubernetes-sigs.github.io/aws-ebs-csi-driver --version "{{EBS_CSI_CHART_VERSION}}" \
    --namespace kube-system --set controller.region="$REGION" --set controller.replicaCount=1 \
    --set-json 'controller.nodeSelector={"node-role.kubernetes.io/control-plane":""}' \
    --set-json 'controller.tolerations=[{"key":"node-role.kubernetes.io/control-plane","operator":"Exists","effect":"NoSchedule"},{"key":"CriticalAddonsOnly","operator":"Exists"}]' \
    --set node.hostNetwork=true \
    --set-json 'node.affinity={"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"node-role.kubernetes.io/control-plane","operator":"DoesNotExist"}]}]}}}' &&
    # The EBS controller needs the master's instance credentials from IMDS: host network (the node
    # plugin is kept off the master so their host ports do not collide).
    kubectl_admin -n kube-system patch deployment ebs-csi-controller --type merge \
      -p '{"spec":{"template":{"spec":{"hostNetwork":true,"dnsPolicy":"ClusterFirstWithHostNet"}}}}'
}
# The default StorageClass (gp3, encrypted, WaitForFirstConsumer): a claim without a class binds.
addon_storage_class() {
  kubectl_admin apply -f "$KUBEAZ_DIR/storageclass.yaml"
}

# cluster-autoscaler: finds the node groups by the tags kubeaz puts on each of their auto scaling
# groups (k8s.io/cluster-autoscaler/enabled and k8s.io/cluster-autoscaler/{{CLUSTER_ID}}; never on
# the master's), sizes an empty group from its node-template tags, and runs on the master with host
# networking for the master role's credentials (IMDS hop limit 1), as the controllers above.
addon_cluster_autoscaler() {
  helm_kube upgrade --install cluster-autoscaler cluster-autoscaler \
    --repo https://kubernetes.github.io/autoscaler --version "{{CLUSTER_AUTOSCALER_CHART_VERSION}}" \
    --namespace kube-system --set cloudProvider=aws --set awsRegion="$REGION" \
    --set image.tag="{{CLUSTER_AUTOSCALER_IMAGE_TAG}}" --set replicaCount=1 \
    --set autoDiscovery.clusterName="{{CLUSTER_ID}}" \
    --set-json 'autoDiscovery.tags=["k8s.io/cluster-autoscaler/enabled","k8s.io/cluster-autoscaler/{{CLUSTER_ID}}"]' \
    --set-json 'extraArgs={"balance-similar-node-groups":true}' \
    --set hostNetwork=true --set dnsPolicy=ClusterFirstWithHostNet \
    --set-json 'nodeSelector={"node-role.kubernetes.io/control-plane":""}' \
    --set-json 'tolerations=[{"key":"node-role.kubernetes.io/control-plane","operator":"Exists","effect":"NoSchedule"},{"key":"CriticalAddonsOnly","operator":"Exists"}]'
}
# AWS Node Termination Handler in IMDS mode: a DaemonSet (host network: IMDS is one hop away) that
# cordons and drains its node on a spot interruption notice, a rebalance recommendation or a
# scheduled maintenance event, before the instance is taken. No queue, no IAM.
addon_node_termination_handler() {
  helm_kube upgrade --install aws-node-termination-handler \
    oci://public.ecr.aws/aws-ec2/helm/aws-node-termination-handler --version "{{NTH_CHART_VERSION}}" \
    --namespace kube-system --set enableSqsTerminationDraining=false --set useHostNetwork=true \
    --set enableSpotInterruptionDraining=true --set enableRebalanceMonitoring=true \
    --set enableRebalanceDraining=true --set enableScheduledEventDraining=true
}

{{HOOK_IRSA_SOURCE}}FAILED_ADDONS=()
# addon NAME FUNCTION: retried; one that still fails is logged loudly and the next one still runs.
addon() {
  if retry "${KUBEAZ_ADDON_ATTEMPTS:-10}" "$2"; then
    log "add-on $1 installed"
  else
    log "ERROR: add-on $1 FAILED after ${KUBEAZ_ADDON_ATTEMPTS:-10} attempts; the cluster runs without it. Retry with: $KUBEAZ_DIR/master.sh --addons"
    FAILED_ADDONS+=("$1")
  fi
}
install_addons() {
  FAILED_ADDONS=()
  addon cilium addon_cilium
{{HOOK_IRSA_ADDONS}}  addon aws-cloud-controller-manager addon_cloud_controller_manager
  addon aws-ebs-csi-driver addon_ebs_csi
  addon storage-class addon_storage_class
  addon cluster-autoscaler addon_cluster_autoscaler
  addon aws-node-termination-handler addon_node_termination_handler
  if [ "${#FAILED_ADDONS[@]}" -gt 0 ]; then
    log "ERROR: ${#FAILED_ADDONS[@]} add-on(s) of {{CLUSTER_ID}} FAILED: ${FAILED_ADDONS[*]}"
    return 1
  fi
}

main() {
  log "master bootstrap of {{CLUSTER_ID}} on $INSTANCE_ID ($AVAIL_ZONE, $PRIVATE_IP)"
  NODE_NAME="$(node_name)"
  export NODE_NAME
  k8s_host_prep
  install_kubernetes
  install_etcd_tools
  install_helm
  fetch_pki

  # CONTROL_PLANE_COUNT > 1: init, join or restore (etcd-membership.sh); one master: always init.
  # shellcheck source=/dev/null
  . "$KUBEAZ_DIR/etcd-membership.sh"
  ha_decide

  local preflight=()
  if [ "$HA_ACTION" != join ]; then
    # Restore BEFORE etcd starts (kubeadm init starts it): a rebuilt master resumes the cluster's state.
    KUBEAZ_RESTORED_FILE="$(mktemp)"
    export KUBEAZ_RESTORED_FILE
    "$KUBEAZ_DIR/etcd-restore.sh"
    if [ -d "$ETCD_DATA_DIR/member" ]; then
      preflight=(--ignore-preflight-errors=DirAvailable--var-lib-etcd)
    fi
  fi

  register_dns
  write_kubelet_args
  write_kubeadm_config
{{HOOK_BEFORE_INIT}}  if [ "$HA_ACTION" = join ]; then
    ha_join
  else
    kubeadm init --config "$K8S_DIR/kubeadm.yaml" "${preflight[@]}"
  fi
  if [ "$HA_ACTION" = restore ]; then
    ha_record_restore "$(cat "$KUBEAZ_RESTORED_FILE")" || log "ERROR: restore.json could not be written"
  fi
  ha_record_member || log "ERROR: this master's etcd member is not recorded; replacing it later needs members/$NODE_GROUP.json"
  if [ "$HA_ACTION" = join ]; then ha_adopt_first_master || log "ERROR: the first master's member could not be recorded"; fi

  # Right after init, before any add-on can fail: backups, the join token and node roles.
  install_units kubeaz-etcd-backup.service kubeaz-etcd-backup.timer kubeaz-join-token.service kubeaz-join-token.timer kubeaz-node-roles.service
  systemctl enable --now kubeaz-etcd-backup.timer
  # A node added a year from now must still join: a 48h token, renewed every 12h.
  systemctl enable --now kubeaz-join-token.timer
  "$KUBEAZ_DIR/join-token.sh" || log "ERROR: the first join token could not be written; kubeaz-join-token.timer tries again"
  systemctl enable --now kubeaz-node-roles.service

  if install_addons; then
    log "master of {{CLUSTER_ID}} is up"
  else
    log "master of {{CLUSTER_ID}} is up, with backups and node joins, but NOT every add-on"
    exit 1
  fi
}

if [ "${1:-}" = --addons ]; then
  install_addons
  exit
fi
main "$@"
