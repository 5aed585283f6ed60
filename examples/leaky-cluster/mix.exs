defmodule LeakyCluster.MixProject do
  use Mix.Project

  def project do
    [
      app: :leaky_cluster,
      version: "0.1.0",
      elixir: "~> 1.14",
      start_permanent: Mix.env() == :prod,
      deps: [],
      releases: [
        leaky_cluster: [
          include_executables_for: [:unix],
          # "temporary" cookie so the nodes can talk to each other
          cookie: "leaky_cluster_cookie"
        ]
      ]
    ]
  end

  def application do
    [extra_applications: [:logger], mod: {LeakyCluster.Application, []}]
  end
end
