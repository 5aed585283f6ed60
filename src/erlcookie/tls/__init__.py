"""Mutual TLS for Erlang distribution: a cluster CA, node certificates, the optfile.

`pki` makes and reads certificates (with `cryptography`), `store` keeps them in a
directory (`ca.pem`/`ca.key`, `NAME.pem`/`NAME.key`, keys 0600), `optfile` renders OTP's
`-ssl_dist_optfile`, and `status` says what expires when. No function here prints a key.
"""
