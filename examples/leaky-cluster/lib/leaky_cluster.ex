defmodule LeakyCluster.Application do
  use Application

  def start(_type, _args) do
    # Make sure every node agrees on the cookie, whatever the release says.
    Node.set_cookie(Node.self(), :"QKVJMZSHWUXNBTLYPRCD")
    Supervisor.start_link([], strategy: :one_for_one, name: LeakyCluster.Supervisor)
  end
end
