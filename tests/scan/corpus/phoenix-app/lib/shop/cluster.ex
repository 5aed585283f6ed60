defmodule Shop.Cluster do
  @moduledoc "Connects the nodes of the shop cluster."

  @cluster_cookie :"attr_cluster_cookie"

  def connect(node) do
    Node.set_cookie(node, @cluster_cookie)
    Node.connect(node)
  end

  def same_cookie?(cookie), do: cookie == Node.get_cookie()
end
