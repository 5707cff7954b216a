{{/* Objects of a YAML file of deploy/ (through files/), one dict each. */}}
{{- define "tacos.docs" -}}
{{- $out := list -}}
{{- range $doc := regexSplit "(?m)^---\\s*$" (.root.Files.Get .file) -1 -}}
{{- $obj := fromYaml $doc -}}
{{- if and $obj $obj.kind -}}
{{- $out = append $out $obj -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* An object as the overlays make it: the namespace, the part-of label. */}}
{{- define "tacos.emit" -}}
{{- $o := .obj -}}
{{- $meta := $o.metadata -}}
{{- if ne $o.kind "Namespace" -}}
{{- $_ := set $meta "namespace" .root.Release.Namespace -}}
{{- end -}}
{{- $labels := default dict $meta.labels -}}
{{- $_ := set $labels "app.kubernetes.io/part-of" "traffic-tacos" -}}
{{- $_ := set $meta "labels" $labels -}}
---
{{ toYaml $o }}
{{- end -}}
