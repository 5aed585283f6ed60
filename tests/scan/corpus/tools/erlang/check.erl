-module(check).
-export([same/2]).

%% Compare a node's cookie with ours; -setcookie must match on both ends.
same(Node, Cookie) ->
    Ours = erlang:get_cookie(),
    case rpc:call(Node, erlang, get_cookie, []) of
        Theirs when Theirs =:= Ours -> true;
        _ when Cookie == Ours -> maybe;
        _ -> false
    end.
