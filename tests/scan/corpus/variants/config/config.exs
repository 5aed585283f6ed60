use Mix.Config

config :myapp, MyApp.Endpoint,
  secret_key_base: "aaaabbbbccccddddeeeeffffgggghhhh",
  session: [store: :cookie, key: "_myapp_key"]

config :myapp, :distribution, cookie: :"distconfigcookie"
