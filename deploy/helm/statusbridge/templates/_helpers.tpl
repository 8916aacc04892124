{{/* The chart name, or nameOverride. */}}
{{- define "statusbridge.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name: fullnameOverride, or release-name, without a repeated chart name. */}}
{{- define "statusbridge.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels that select the bridge's pods; they never change across upgrades. */}}
{{- define "statusbridge.selectorLabels" -}}
app.kubernetes.io/name: {{ include "statusbridge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: bridge
{{- end }}

{{/* Labels on every resource. */}}
{{- define "statusbridge.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "statusbridge.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The Secret holding the credentials. */}}
{{- define "statusbridge.secretName" -}}
{{- if .Values.secret.create }}
{{- include "statusbridge.fullname" . }}
{{- else }}
{{- required "secret.name is required unless secret.create is true" .Values.secret.name }}
{{- end }}
{{- end }}

{{/* The ServiceAccount's name. */}}
{{- define "statusbridge.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "statusbridge.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image reference: repository, then the digest or the tag (appVersion by default). */}}
{{- define "statusbridge.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if eq $tag "latest" }}
{{- fail "image.tag: pin a version, not latest" }}
{{- end }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}
