#!/bin/sh
helm upgrade --install couch couchdb/couchdb \
  --set-string erlangFlags.setcookie="helmstrcookie" \
  --set adminPassword=x
