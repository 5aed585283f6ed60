#!/usr/bin/env bash
set -euo pipefail
ns=${1:-rabbit}

kubectl -n "$ns" create secret generic rabbitmq-cookie \
  --from-literal=cookie=Wd4Hn7Rq2Zt9Km3Px8Lc

kubectl -n "$ns" create secret generic rabbitmq-cookie-gen \
  --from-literal=erlang-cookie="$(openssl rand -hex 32)" \
  --from-literal=cookie-secret="$(openssl rand -base64 32)"

kubectl create secret generic couch --from-literal=erlangCookie='couch_kubectl_ck' --dry-run=client -o yaml
