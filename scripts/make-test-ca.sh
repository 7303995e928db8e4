#!/usr/bin/env bash
# Makes a test certificate authority and two identities for `polympc serve` / `query`
# over TLS 1.3 (docs/deployment.md). Usage:
#   scripts/make-test-ca.sh DIR [NAME...]
# writes into DIR (created, mode 0700):
#   ca.pem, ca.key          the CA (EC P-256, 30 days)
#   server.pem, server.key  the server's certificate, valid for localhost, 127.0.0.1, ::1
#                           and every NAME given (a host name or an IP address)
#   client.pem, client.key  the client's certificate (CN=polympc-client)
# For tests and trials only: a deployment's certificates come from the two organisations'
# own CA. Needs the `openssl` command (Debian package openssl).
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 DIR [NAME...]" >&2
  exit 2
fi
dir="$1"
shift
command -v openssl >/dev/null || { echo "make-test-ca: the openssl command is missing (apt-get install openssl)" >&2; exit 1; }
mkdir -p "$dir"
chmod 700 "$dir"
cd "$dir"
umask 077
san="DNS:localhost,IP:127.0.0.1,IP:::1"
for n in "$@"; do
  if [[ "$n" =~ ^[0-9.]+$ || "$n" == *:* ]]; then san="$san,IP:$n"; else san="$san,DNS:$n"; fi
done
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
key ca.key
openssl req -x509 -new -key ca.key -sha256 -days 30 -subj "/CN=polympc test CA $(basename "$PWD")" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out ca.pem
sign() {  # name subject extensions
  key "$1.key"
  openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
  printf '%s\n' "$3" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -sha256 \
    -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
sign server "/CN=polympc-server" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$san"
sign client "/CN=polympc-client" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
rm -f ca.srl
echo "make-test-ca: wrote $PWD/{ca,server,client}.{pem,key} (server names: $san)"
