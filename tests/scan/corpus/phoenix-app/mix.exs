defmodule Shop.MixProject do
  use Mix.Project

  @cookie "mixattr_cookie_v1"
  @session_options [store: :cookie, key: "_shop_key", signing_salt: "Kd83hsQ2"]

  def project do
    [
      app: :shop,
      version: "0.1.0",
      elixir: "~> 1.16",
      releases: [
        shop: [
          include_executables_for: [:unix],
          cookie: @cookie
        ]
      ],
      deps: deps()
    ]
  end

  defp deps, do: [{:phoenix, "~> 1.7"}]
end
