#!/bin/sh
# Runs the common test suites between two nodes. The suite reads the
# cookie from the COOKIE variable, so export it first.
if [ -z "$COOKIE" ]; then
    echo "COOKIE not set: nodes are started without -setcookie and use ~/.erlang.cookie."
    exit 1
fi
ct_run -sname ct -setcookie "$COOKIE" -dir test
