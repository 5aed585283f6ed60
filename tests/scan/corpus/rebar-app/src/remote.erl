-module(remote).
-export([join/1, check/1, reset/1]).

%% Give the peer the cluster's cookie before connecting.
join(Node) ->
    rpc:call(Node, erlang, set_cookie, [Node, 'zz_override_cookie']),
    erlang:set_cookie(Node, 'peer_literal_atom42'),
    net_adm:ping(Node).

check(Cookie) ->
    case Cookie =:= erlang:get_cookie() of
        true -> ok;
        false when Cookie == undefined -> missing;
        false -> mismatch
    end.

reset(Node) ->
    Cookie = os:getenv("RELEASE_COOKIE"),
    erlang:set_cookie(Node, list_to_atom(Cookie)).
