#!/bin/sh
# Start three local nodes of the release for a cluster test.
set -e

if [ "$COOKIE" == "" ]; then
    echo "error: each node needs a -setcookie parameter."
fi

COOKIE=cookie1 NODE_NAME=a _build/default/rel/myapp/bin/myapp daemon
COOKIE=cookie1 NODE_NAME=b _build/default/rel/myapp/bin/myapp daemon

# a bare erl node for debugging, on the same cookie
COOKIE='Lq8Zr2Vm5Wx9Tc3Nb7Ka'
erl -sname debug -setcookie "$COOKIE" -noshell &

cookie=sharedsecret7
ERL_FLAGS="-sname c -setcookie $cookie" rebar3 shell
echoerr() { echo "$@" 1>&2; }
echoerr "usage: pass the cookie after -setcookie, or set COOKIE"
