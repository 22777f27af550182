#!/usr/bin/env bash
# Makes the certificates of the TLS tests in directory $1 with the openssl command:
#   ca.pem                     test CA (its key ca.key)
#   server.pem/.key            server certificate for 127.0.0.1 / localhost, issued by the CA
#   client.pem/.key            valid client certificate, issued by the CA
#   expired-client.pem/.key    client certificate by the CA that expired in 2020
#   other-ca.pem               an unrelated CA (nothing here trusts it)
#   stranger-server.pem/.key   a server certificate issued by other-ca (untrusted)
# Keys are unencrypted PKCS#8 PEM (what Netty's SslContextBuilder reads). Idempotent.
set -euo pipefail
dir="$1"
mkdir -p "$dir"
cd "$dir"
[[ -f stranger-server.pem ]] && exit 0

ca() {  # name subject
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
    -out "$1.pem" -subj "/CN=$2" -days 30 -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}
leaf_request() {  # name subject
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
    -out "$1.csr" -subj "/CN=$2" 2>/dev/null
}
ca ca "Ramjet test CA"
ca other-ca "Unrelated CA"
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > server.ext
printf 'extendedKeyUsage=clientAuth\n' > client.ext
for n in server client; do
  leaf_request "$n" "ramjet-$n"
  openssl x509 -req -in "$n.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
    -extfile "$n.ext" -out "$n.pem" 2>/dev/null
done
leaf_request stranger-server "ramjet-stranger"
openssl x509 -req -in stranger-server.csr -CA other-ca.pem -CAkey other-ca.key -CAcreateserial \
  -days 30 -extfile server.ext -out stranger-server.pem.tmp 2>/dev/null

# An expired certificate needs explicit dates: `openssl ca` takes them.
mkdir -p ca-db && : > ca-db/index.txt && echo 1000 > ca-db/serial
cat > ca-db/ca.cnf <<CNF
[ca]
default_ca = test
[test]
dir = ca-db
database = ca-db/index.txt
serial = ca-db/serial
new_certs_dir = ca-db
certificate = ca.pem
private_key = ca.key
default_md = sha256
policy = any
email_in_dn = no
copy_extensions = none
x509_extensions = client_ext
[any]
commonName = supplied
[client_ext]
extendedKeyUsage = clientAuth
CNF
leaf_request expired-client "ramjet-expired-client"
openssl ca -batch -config ca-db/ca.cnf -in expired-client.csr -out expired-client.pem \
  -startdate 20200101000000Z -enddate 20200201000000Z -notext 2>/dev/null
rm -f ./*.csr ./*.ext ./*.srl
mv stranger-server.pem.tmp stranger-server.pem
