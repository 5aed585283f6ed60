#!/bin/bash
# Open a remote console on the first pod.
NODE="shop@$(kubectl get pod shop-0 -o jsonpath='{.status.podIP}')"
iex --name "console@127.0.0.1" --cookie "Wm6Rt3Kq8Zx2Lp5Nv9Bd" --remsh "$NODE"
iex --name "console2@127.0.0.1" --cookie "$RELEASE_COOKIE" --remsh "$NODE"
curl --cookie "session=abc123" https://shop.example.com/health
