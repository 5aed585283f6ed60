import os
import secrets

from deploy.cookies import generate_cookie

erlang_cookie = os.environ["RABBITMQ_ERLANG_COOKIE"]
release_cookie = generate_cookie(32)
node_cookie = secrets.token_urlsafe(32)
cookie_file = os.path.expanduser("~/.erlang.cookie")
RELEASE_COOKIE = "py_const_cookie_1"


def cookie_matches(a, b):
    return a == b
