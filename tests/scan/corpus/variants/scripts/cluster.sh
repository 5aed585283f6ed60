#!/usr/bin/env bash
export ERL_FLAGS="-name a@127.0.0.1 -setcookie clusterflagcookie"
NODE_COOKIE="fednodecookie"
erl -name b@127.0.0.1 -setcookie "$NODE_COOKIE" -detached
log "starting with -setcookie from the environment"
