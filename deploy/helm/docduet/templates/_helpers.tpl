{{/* Names and labels. */}}
{{- define "docduet.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "docduet.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "docduet.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "docduet.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* Selector labels of one component: (dict "root" $ "component" "web"). */}}
{{- define "docduet.selectorLabels" -}}
app.kubernetes.io/name: {{ include "docduet.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "docduet.labels" -}}
{{ include "docduet.selectorLabels" . }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: docduet
{{- end }}

{{- define "docduet.dataClaim" -}}
{{- .Values.persistence.existingClaim | default (printf "%s-data" (include "docduet.fullname" .)) }}
{{- end }}

{{/* Where docduet finds Weaviate: the bundled chart's Services, or externalWeaviate. */}}
{{- define "docduet.weaviateEnv" -}}
{{- if .Values.weaviate.enabled }}
- name: WEAVIATE_URL
  value: {{ printf "http://%s.%s.svc:80" .Values.weaviate.service.name .Release.Namespace | quote }}
- name: WEAVIATE_GRPC_URL
  value: {{ printf "%s.%s.svc:50051" .Values.weaviate.grpcService.name .Release.Namespace | quote }}
{{- else }}
- name: WEAVIATE_URL
  value: {{ required "weaviate.enabled is false: set externalWeaviate.url (http[s]://host:port)" .Values.externalWeaviate.url | quote }}
{{- with .Values.externalWeaviate.grpcUrl }}
- name: WEAVIATE_GRPC_URL
  value: {{ . | quote }}
{{- end }}
{{- end }}
- name: WEAVIATE_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.weaviateAuth.existingSecret }}
      key: {{ .Values.weaviateAuth.key }}
{{- end }}

{{/* A component's environment: (dict "root" $ "c" .Values.web). Plain values, then secrets. */}}
{{- define "docduet.env" -}}
{{- $root := .root }}
{{- include "docduet.weaviateEnv" $root | trim }}
- name: DOCDUET_DATA_DIR
  value: /data
- name: DOCDUET_CORPUS_ROOT
  value: {{ $root.Values.corpus.mountPath | quote }}
{{- range $name, $value := merge (dict) (.c.env | default (dict)) $root.Values.settings }}
{{- if ne (toString $value) "" }}
- name: {{ $name }}
  value: {{ toString $value | quote }}
{{- end }}
{{- end }}
{{- range .c.secretKeys }}
- name: {{ . }}
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.secrets.existingSecret }}
      key: {{ . }}
      optional: true
{{- end }}
{{- end }}

{{/*
The pod of one component: (dict "root" $ "component" "web" "c" .Values.web "args" (list ...)
"port" 8501 "probes" true). Non-root, read-only root filesystem, every capability dropped.
*/}}
{{- define "docduet.pod" -}}
{{- $root := .root }}
{{- $v := $root.Values -}}
automountServiceAccountToken: false
securityContext:
  {{- toYaml $v.podSecurityContext | nindent 2 }}
{{- with $v.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if and $v.persistence.enabled (has "ReadWriteOnce" $v.persistence.accessModes) }}
affinity:
  podAffinity:   # a ReadWriteOnce volume attaches to one node: keep docduet's pods together
    requiredDuringSchedulingIgnoredDuringExecution:
      - topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            app.kubernetes.io/instance: {{ $root.Release.Name }}
            app.kubernetes.io/part-of: docduet
{{- end }}
{{- with $v.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
containers:
  - name: {{ .component }}
    image: {{ printf "%s:%s" $v.image.repository ($v.image.tag | default $root.Chart.AppVersion) | quote }}
    imagePullPolicy: {{ $v.image.pullPolicy }}
    command: {{ toJson .args }}
    {{- if .port }}
    ports:
      - name: http
        containerPort: {{ .port }}
    {{- end }}
    env:
      {{- include "docduet.env" (dict "root" $root "c" .c) | nindent 6 }}
    {{- if .probes }}
    {{- range $probe := list "startupProbe" "readinessProbe" "livenessProbe" }}
    {{- with index $.c $probe }}
    {{ $probe }}:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- end }}
    {{- end }}
    resources:
      {{- toYaml .c.resources | nindent 6 }}
    securityContext:
      {{- toYaml $v.containerSecurityContext | nindent 6 }}
    volumeMounts:
      - {name: data, mountPath: /data}
      - {name: corpus, mountPath: {{ $v.corpus.mountPath }}, readOnly: true}
      - {name: tmp, mountPath: /tmp}
      - {name: home, mountPath: /home/docduet}
      {{- with $v.extraVolumeMounts }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
volumes:
  - name: data
    {{- if $v.persistence.enabled }}
    persistentVolumeClaim:
      claimName: {{ include "docduet.dataClaim" $root }}
    {{- else }}
    emptyDir: {}
    {{- end }}
  - name: corpus
    {{- if $v.corpus.volume }}
    {{- toYaml $v.corpus.volume | nindent 4 }}
    {{- else }}
    emptyDir: {}
    {{- end }}
  - name: tmp
    emptyDir: {sizeLimit: {{ $v.tmpSizeLimit }}}
  - name: home
    emptyDir: {sizeLimit: {{ $v.homeSizeLimit }}}
  {{- with $v.extraVolumes }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}
