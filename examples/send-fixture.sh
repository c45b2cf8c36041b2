#!/bin/sh
# Posts a webhook body to a running avisa, as a platform would, and prints avisa's answer.
#
#   examples/send-fixture.sh WEBHOOK_URL FILE ['Header: value'…]
#
# WEBHOOK_URL is the store's URL from the console (Lojas → the store), e.g.
# http://127.0.0.1:8080/webhook/3f9c…/minha-loja. Extra arguments are sent as headers:
#   examples/send-fixture.sh "$URL" tests/fixtures/shopify/orders_paid.json 'X-Shopify-Topic: orders/paid'
# A body whose name ends in .form is sent as application/x-www-form-urlencoded, others as JSON.
# Exit status: 0 when avisa answered 2xx.
set -eu

if [ "$#" -lt 2 ]; then
    echo "usage: $0 WEBHOOK_URL FILE ['Header: value'…]" >&2
    exit 2
fi
url=$1
file=$2
shift 2
if [ ! -r "$file" ]; then
    echo "$0: cannot read $file" >&2
    exit 2
fi
case "$file" in
    *.form) type=application/x-www-form-urlencoded ;;
    *) type=application/json ;;
esac

# Turn each remaining argument into `-H argument`.
count=$#
while [ "$count" -gt 0 ]; do
    set -- "$@" -H "$1"
    shift
    count=$((count - 1))
done

# Not curl -f: on 4xx avisa explains itself in the body, which is worth seeing.
status=$(curl --silent --show-error --max-time 30 \
    --output /dev/stderr --write-out '%{http_code}' \
    -H "Content-Type: $type" "$@" --data-binary "@$file" "$url")
echo "" >&2
echo "HTTP $status"
case "$status" in
    2*) exit 0 ;;
    *) exit 1 ;;
esac
