import Config

if config_env() == :prod do
  secret_key_base =
    System.get_env("SECRET_KEY_BASE") ||
      raise "environment variable SECRET_KEY_BASE is missing."

  cookie = System.get_env("RELEASE_COOKIE") || "runtime_fallback_cookie"
  config :shop, :cluster_cookie, String.to_atom(cookie)

  config :libcluster,
    topologies: [
      gossip: [
        strategy: Cluster.Strategy.Gossip,
        config: [secret: System.get_env("RELEASE_COOKIE", "getenv_default_cookie")]
      ]
    ]

  release_cookie = System.get_env("RELEASE_COOKIE") || raise "missing RELEASE_COOKIE"
end
