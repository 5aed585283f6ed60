import Config

if config_env() == :prod do
  config :leaky_cluster, :cluster_secret, System.fetch_env!("RELEASE_COOKIE")
end
