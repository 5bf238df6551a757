{{/* The chart's name, shortened for Kubernetes names. */}}
{{- define "cachemeter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's resource prefix. */}}
{{- define "cachemeter.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "cachemeter.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "cachemeter.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* Standard labels; call with (dict "root" $ "component" "api"). */}}
{{- define "cachemeter.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{ include "cachemeter.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: cachemeter
{{- end }}

{{- define "cachemeter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cachemeter.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "cachemeter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "cachemeter.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "cachemeter.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* The Secret and key holding DATABASE_URL. */}}
{{- define "cachemeter.databaseSecret" -}}
{{- if .Values.cloudnativepg.enabled }}{{ include "cachemeter.fullname" . }}-db-app{{ else }}{{ .Values.database.existingSecret }}{{ end }}
{{- end }}
{{- define "cachemeter.databaseKey" -}}
{{- if .Values.cloudnativepg.enabled }}uri{{ else }}{{ .Values.database.urlKey }}{{ end }}
{{- end }}

{{/* Environment shared by every cachemeter container. */}}
{{- define "cachemeter.env" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "cachemeter.databaseSecret" . }}
      key: {{ include "cachemeter.databaseKey" . }}
- name: CACHEMETER_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.existingSecret }}
      key: {{ .Values.secrets.sessionKeyKey }}
      optional: true
- name: CACHEMETER_METRICS_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.existingSecret }}
      key: {{ .Values.secrets.metricsTokenKey }}
      optional: true
- name: CACHEMETER_HOST
  value: "0.0.0.0"
- name: CACHEMETER_DATA_DIR
  value: /tmp/cachemeter
{{- range $name, $value := .Values.config }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}

{{/* Pod-level settings shared by Deployments and Jobs; call with the root context. */}}
{{- define "cachemeter.podSpec" -}}
serviceAccountName: {{ include "cachemeter.serviceAccountName" . }}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumes:
  # The root filesystem is read-only; temporary files go here.
  - name: tmp
    emptyDir: {}
{{- end }}

{{/* A cachemeter container running `cachemeter <args>`; call with (dict "root" $ "name" … "args" (list …)). */}}
{{- define "cachemeter.container" -}}
- name: {{ .name }}
  image: {{ include "cachemeter.image" .root }}
  imagePullPolicy: {{ .root.Values.image.pullPolicy }}
  args:
    {{- toYaml .args | nindent 4 }}
  env:
    {{- include "cachemeter.env" .root | nindent 4 }}
    {{- with .extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  securityContext:
    {{- toYaml .root.Values.securityContext | nindent 4 }}
  volumeMounts:
    - name: tmp
      mountPath: /tmp
{{- end }}
