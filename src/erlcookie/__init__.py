"""erlcookie: Erlang/Elixir distribution cookies without the pain and the danger."""

__version__ = "0.1.0"
