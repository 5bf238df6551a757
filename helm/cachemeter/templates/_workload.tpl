{{/* A Deployment, Service, HPA and PDB for one component.
     Call with (dict "root" $ "component" "api" "spec" .Values.api "args" (list …)). */}}
{{- define "cachemeter.workload" -}}
{{- $root := .root -}}
{{- $name := printf "%s-%s" (include "cachemeter.fullname" $root) .component -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  labels:
    {{- include "cachemeter.labels" (dict "root" $root "component" .component) | nindent 4 }}
spec:
  {{- if not .spec.autoscaling.enabled }}
  replicas: {{ .spec.replicas }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "cachemeter.selectorLabels" (dict "root" $root "component" .component) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "cachemeter.labels" (dict "root" $root "component" .component) | nindent 8 }}
      {{- with $root.Values.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      {{- include "cachemeter.podSpec" $root | nindent 6 }}
      terminationGracePeriodSeconds: {{ $root.Values.terminationGracePeriodSeconds }}
      containers:
        {{- $extra := list (dict "name" "CACHEMETER_SHUTDOWN_TIMEOUT_SECONDS" "value" (sub $root.Values.terminationGracePeriodSeconds 5 | toString)) }}
        {{- /* Behind a TLS ingress the pods see plain HTTP from the controller: the session
        cookie must still be Secure. */}}
        {{- if and $root.Values.ingress.enabled $root.Values.ingress.tls }}
        {{- $extra = append $extra (dict "name" "CACHEMETER_SESSION_COOKIE_SECURE" "value" "true") }}
        {{- end }}
        {{- include "cachemeter.container" (dict "root" $root "name" .component "args" .args "extraEnv" $extra) | nindent 8 }}
          ports:
            - name: http
              containerPort: {{ .spec.port }}
              protocol: TCP
          startupProbe:
            httpGet: {path: /healthz, port: http}
            periodSeconds: 2
            failureThreshold: 30
          livenessProbe:
            httpGet: {path: /healthz, port: http}
            periodSeconds: 10
            timeoutSeconds: 3
          readinessProbe:
            httpGet: {path: /readyz, port: http}
            periodSeconds: 5
            timeoutSeconds: 3
          resources:
            {{- toYaml .spec.resources | nindent 12 }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}
  labels:
    {{- include "cachemeter.labels" (dict "root" $root "component" .component) | nindent 4 }}
spec:
  type: {{ .spec.service.type }}
  selector:
    {{- include "cachemeter.selectorLabels" (dict "root" $root "component" .component) | nindent 4 }}
  ports:
    - name: http
      port: {{ .spec.service.port }}
      targetPort: http
      protocol: TCP
{{- if .spec.autoscaling.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ $name }}
  labels:
    {{- include "cachemeter.labels" (dict "root" $root "component" .component) | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ $name }}
  minReplicas: {{ .spec.autoscaling.minReplicas }}
  maxReplicas: {{ .spec.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .spec.autoscaling.targetCPUUtilizationPercentage }}
{{- end }}
{{- if .spec.podDisruptionBudget.enabled }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $name }}
  labels:
    {{- include "cachemeter.labels" (dict "root" $root "component" .component) | nindent 4 }}
spec:
  minAvailable: {{ .spec.podDisruptionBudget.minAvailable }}
  selector:
    matchLabels:
      {{- include "cachemeter.selectorLabels" (dict "root" $root "component" .component) | nindent 6 }}
{{- end }}
{{- end }}
