#!/bin/bash
# shellcheck shell=bash
# kubeaz IAM roles for service accounts on the master of {{CLUSTER_ID}}: sourced by master.sh when
# spec.iam.serviceAccountIssuerDiscovery is on. The issuer's documents are published by kubeaz in
# the discovery bucket (s3 public read of exactly .well-known/openid-configuration and
# openid/v1/jwks); here kube-apiserver is told the issuer, the pod-identity webhook is installed
# and the EBS CSI controller moves to its own role. Variables come from cluster.env.

# kube-apiserver, through a kubeadm patch on its static pod (the same for kubeadm v1beta3 and
# v1beta4, whose extraArgs differ): the new issuer FIRST — it signs every new token —, kubeadm's
# default issuer ($DEFAULT_SERVICE_ACCOUNT_ISSUER, already on the command line) stays after it and
# so stays accepted: tokens issued before the switch remain valid until pods get new ones.
# --api-audiences keeps the default audience (it would otherwise follow the first issuer).
write_apiserver_issuer_patch() {
  mkdir -p "$K8S_DIR/patches"
  cat >"$K8S_DIR/patches/kube-apiserver0+json.json" <<PATCH
[
  {"op": "add", "path": "/spec/containers/0/command/1", "value": "--service-account-issuer=$SERVICE_ACCOUNT_ISSUER"},
  {"op": "add", "path": "/spec/containers/0/command/-", "value": "--service-account-jwks-uri=$SERVICE_ACCOUNT_ISSUER/openid/v1/jwks"},
  {"op": "add", "path": "/spec/containers/0/command/-", "value": "--api-audiences=$DEFAULT_SERVICE_ACCOUNT_ISSUER"}
]
PATCH
}

WEBHOOK_NAME=pod-identity-webhook
WEBHOOK_DIR="$K8S_DIR/$WEBHOOK_NAME"

# The webhook's serving certificate, signed by the cluster CA (pki/ca.key, fetched by master.sh), for
# its Service's names; kept while it has more than 30 days left, made again otherwise.
webhook_certificate() {
  mkdir -p "$WEBHOOK_DIR"
  chmod 0700 "$WEBHOOK_DIR"
  if [ -s "$WEBHOOK_DIR/tls.crt" ] && openssl x509 -checkend 2592000 -noout -in "$WEBHOOK_DIR/tls.crt" >/dev/null; then
    return 0
  fi
  local svc="$WEBHOOK_NAME.kube-system.svc"
  printf '%s\n' "subjectAltName=DNS:$WEBHOOK_NAME,DNS:$WEBHOOK_NAME.kube-system,DNS:$svc,DNS:$svc.cluster.local" \
    'extendedKeyUsage=serverAuth' 'keyUsage=critical,digitalSignature,keyEncipherment' 'basicConstraints=critical,CA:FALSE' >"$WEBHOOK_DIR/ext.cnf"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$WEBHOOK_DIR/tls.key" -subj "/CN=$svc" -out "$WEBHOOK_DIR/tls.csr" 2>/dev/null &&
    openssl x509 -req -in "$WEBHOOK_DIR/tls.csr" -CA "$PKI_DIR/ca.crt" -CAkey "$PKI_DIR/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
      -days 3650 -sha256 -extfile "$WEBHOOK_DIR/ext.cnf" -out "$WEBHOOK_DIR/tls.crt" 2>/dev/null &&
    chmod 0600 "$WEBHOOK_DIR/tls.key"
}

# The webhook's objects (upstream deploy/, without cert-manager: the certificate above, the cluster
# CA as caBundle). It runs on the control plane on the pod network (no host network, no IMDS).
render_pod_identity_webhook() {
  local ca_bundle
  ca_bundle="$(base64 -w0 <"$PKI_DIR/ca.crt")"
  cat <<MANIFESTS
apiVersion: v1
kind: ServiceAccount
metadata:
  name: $WEBHOOK_NAME
  namespace: kube-system
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: $WEBHOOK_NAME
rules:
  - apiGroups: [""]
    resources: [serviceaccounts]
    verbs: [get, watch, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: $WEBHOOK_NAME
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: $WEBHOOK_NAME
subjects:
  - kind: ServiceAccount
    name: $WEBHOOK_NAME
    namespace: kube-system
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: $WEBHOOK_NAME
  namespace: kube-system
spec:
  replicas: 1
  selector:
    matchLabels:
      app: $WEBHOOK_NAME
  template:
    metadata:
      labels:
        app: $WEBHOOK_NAME
    spec:
      serviceAccountName: $WEBHOOK_NAME
      priorityClassName: system-cluster-critical
      nodeSelector:
        node-role.kubernetes.io/control-plane: ""
      tolerations:
        - { key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule }
        - { key: node.cloudprovider.kubernetes.io/uninitialized, operator: Exists, effect: NoSchedule }
        - { key: CriticalAddonsOnly, operator: Exists }
      containers:
        - name: $WEBHOOK_NAME
          image: $POD_IDENTITY_WEBHOOK_IMAGE
          command:
            - /webhook
            - --in-cluster=false
            - --namespace=kube-system
            - --service-name=$WEBHOOK_NAME
            - --annotation-prefix=eks.amazonaws.com
            - --token-audience=sts.amazonaws.com
            - --aws-default-region=$REGION
            - --sts-regional-endpoint=true
            - --port=8443
            - --tls-cert=/etc/webhook/certs/tls.crt
            - --tls-key=/etc/webhook/certs/tls.key
            - --logtostderr
          ports:
            - { name: https, containerPort: 8443 }
          volumeMounts:
            - { name: cert, mountPath: /etc/webhook/certs, readOnly: true }
      volumes:
        - name: cert
          secret:
            secretName: $WEBHOOK_NAME-cert
---
apiVersion: v1
kind: Service
metadata:
  name: $WEBHOOK_NAME
  namespace: kube-system
spec:
  selector:
    app: $WEBHOOK_NAME
  ports:
    - { port: 443, targetPort: https }
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: $WEBHOOK_NAME
webhooks:
  - name: $WEBHOOK_NAME.amazonaws.com
    failurePolicy: Ignore
    sideEffects: None
    admissionReviewVersions: [v1beta1]
    clientConfig:
      service:
        name: $WEBHOOK_NAME
        namespace: kube-system
        path: /mutate
      caBundle: $ca_bundle
    objectSelector:
      matchExpressions:
        - { key: app, operator: NotIn, values: [$WEBHOOK_NAME] }
    rules:
      - operations: [CREATE]
        apiGroups: [""]
        apiVersions: [v1]
        resources: [pods]
MANIFESTS
}

addon_pod_identity_webhook() {
  webhook_certificate &&
    kubectl_admin -n kube-system create secret tls "$WEBHOOK_NAME-cert" --cert "$WEBHOOK_DIR/tls.crt" --key "$WEBHOOK_DIR/tls.key" --dry-run=client -o yaml |
    kubectl_admin apply -f - &&
    render_pod_identity_webhook >"$WEBHOOK_DIR/manifests.yaml" &&
    kubectl_admin apply -f "$WEBHOOK_DIR/manifests.yaml" &&
    # the add-ons after it need it running: a pod created while it is away gets no role
    kubectl_admin -n kube-system rollout status "deployment/$WEBHOOK_NAME" --timeout=300s
}

# The EBS CSI controller on its own role (replaces master.sh's): its service account carries the
# role's ARN, the webhook gives its pods the web-identity token, and it leaves the host network
# (an earlier install's hostNetwork patch, restored with etcd, is undone explicitly).
addon_ebs_csi() {
  helm_kube upgrade --install aws-ebs-csi-driver aws-ebs-csi-driver \
    --repo https://kubernetes-sigs.github.io/aws-ebs-csi-driver --version "{{EBS_CSI_CHART_VERSION}}" \
    --namespace kube-system --set controller.region="$REGION" --set controller.replicaCount=1 \
    --set controller.serviceAccount.name=ebs-csi-controller-sa \
    --set-string "controller.serviceAccount.annotations.eks\.amazonaws\.com/role-arn=$EBS_CSI_ROLE_ARN" \
    --set-json 'controller.nodeSelector={"node-role.kubernetes.io/control-plane":""}' \
    --set-json 'controller.tolerations=[{"key":"node-role.kubernetes.io/control-plane","operator":"Exists","effect":"NoSchedule"},{"key":"CriticalAddonsOnly","operator":"Exists"}]' \
    --set node.hostNetwork=true \
    --set-json 'node.affinity={"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"node-role.kubernetes.io/control-plane","operator":"DoesNotExist"}]}]}}}' &&
    kubectl_admin -n kube-system patch deployment ebs-csi-controller --type merge \
      -p '{"spec":{"template":{"spec":{"hostNetwork":false,"dnsPolicy":"ClusterFirst"}}}}'
}

# cluster-autoscaler on its own role (replaces master.sh's): its service account (named as the role's
# trust policy names it) carries the role's ARN, and it leaves the host network — it no longer needs
# the master's instance credentials, and the master's role no longer carries its permissions.
addon_cluster_autoscaler() {
  helm_kube upgrade --install cluster-autoscaler cluster-autoscaler \
    --repo https://kubernetes.github.io/autoscaler --version "{{CLUSTER_AUTOSCALER_CHART_VERSION}}" \
    --namespace kube-system --set cloudProvider=aws --set awsRegion="$REGION" \
    --set image.tag="{{CLUSTER_AUTOSCALER_IMAGE_TAG}}" --set replicaCount=1 \
    --set autoDiscovery.clusterName="{{CLUSTER_ID}}" \
    --set-json 'autoDiscovery.tags=["k8s.io/cluster-autoscaler/enabled","k8s.io/cluster-autoscaler/{{CLUSTER_ID}}"]' \
    --set-json 'extraArgs={"balance-similar-node-groups":true}' \
    --set rbac.serviceAccount.create=true --set rbac.serviceAccount.name=cluster-autoscaler \
    --set-string "rbac.serviceAccount.annotations.eks\.amazonaws\.com/role-arn=$CLUSTER_AUTOSCALER_ROLE_ARN" \
    --set hostNetwork=false --set dnsPolicy=ClusterFirst \
    --set-json 'nodeSelector={"node-role.kubernetes.io/control-plane":""}' \
    --set-json 'tolerations=[{"key":"node-role.kubernetes.io/control-plane","operator":"Exists","effect":"NoSchedule"},{"key":"CriticalAddonsOnly","operator":"Exists"}]'
}
