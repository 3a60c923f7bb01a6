{{/*
Object-name prefix. Truncated to 63 characters because Service names (and label values) are
DNS-1035 labels.
*/}}
{{- define "latticeguard.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "latticeguard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels that select the webhook pods; never change them after install (selectors are immutable). */}}
{{- define "latticeguard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "latticeguard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: webhook
{{- end -}}

{{- define "latticeguard.labels" -}}
{{ include "latticeguard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- if .Values.commonLabels }}
{{ toYaml .Values.commonLabels }}
{{- end }}
{{- end -}}

{{/* metadata.annotations block, only when there are annotations. */}}
{{- define "latticeguard.annotations" -}}
{{- if .Values.commonAnnotations }}
annotations:
  {{- toYaml .Values.commonAnnotations | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "latticeguard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "latticeguard.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "latticeguard.image" -}}
{{- printf "%s:%s" .Values.image.repository (default (printf "v%s" .Chart.AppVersion) .Values.image.tag) -}}
{{- end -}}

{{/* Secret holding the serving certificate (both modes) and, in selfManaged mode, the CA. */}}
{{- define "latticeguard.tlsSecretName" -}}
{{- printf "%s-tls" (include "latticeguard.fullname" .) -}}
{{- end -}}

{{/* The audit leader-election Lease; the name is fixed in the binary, the namespace is ours. */}}
{{- define "latticeguard.leaseName" -}}
latticeguard-audit
{{- end -}}

{{/*
Namespaces the webhooks never see: kube-system and the release namespace are always present, so
values cannot make the webhook guard the namespace it needs to heal itself.
*/}}
{{- define "latticeguard.namespaceSelector" -}}
namespaceSelector:
  matchExpressions:
    - key: kubernetes.io/metadata.name
      operator: NotIn
      values: {{ concat (list "kube-system" .Release.Namespace) .Values.webhook.excludeNamespaces | uniq | toJson }}
{{- end -}}

{{/* Settings every webhook shares. */}}
{{- define "latticeguard.webhookCommon" -}}
matchPolicy: Equivalent
sideEffects: None
admissionReviewVersions: [v1]
timeoutSeconds: {{ .Values.webhook.timeoutSeconds }}
{{ include "latticeguard.namespaceSelector" . }}
{{- end -}}

{{- define "latticeguard.clientConfig" -}}
clientConfig:
  service:
    name: {{ include "latticeguard.fullname" .root }}
    namespace: {{ .root.Release.Namespace }}
    path: {{ .path }}
    port: {{ .root.Values.service.port }}
{{- end -}}

{{/* cert-manager's cainjector fills caBundle from the serving Certificate. */}}
{{- define "latticeguard.webhookAnnotations" -}}
{{- if or (eq .Values.certificates.mode "certManager") .Values.commonAnnotations }}
annotations:
  {{- if eq .Values.certificates.mode "certManager" }}
  cert-manager.io/inject-ca-from: {{ .Release.Namespace }}/{{ include "latticeguard.tlsSecretName" . }}
  {{- end }}
  {{- if .Values.commonAnnotations }}
  {{- toYaml .Values.commonAnnotations | nindent 2 }}
  {{- end }}
{{- end }}
{{- end -}}
