t=${SIG#t=}; t=${t%%,*}
esperado=$(printf '%s.' "$t" | cat - corpo.json | openssl dgst -sha256 -hmac "$SECRET" | sed 's/^.* //')
idade=$(( $(date +%s) - t )); idade=${idade#-}
[ "v1=$esperado" = "${SIG#*,}" ] && [ "$idade" -le 300 ] && echo válida || echo inválida
