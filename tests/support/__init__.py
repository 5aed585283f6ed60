"""Helpers shared by erlcookie's tests (real test nodes, OTP roots)."""
