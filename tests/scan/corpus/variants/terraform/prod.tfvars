region        = "eu-west-1"
erlang_cookie = "tfvarsfilecookie"
