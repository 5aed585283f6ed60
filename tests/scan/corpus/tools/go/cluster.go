package cluster

import "os"

func Config(builder *Builder) Settings {
	erlangCookie := builder.ErlangCookie()
	releaseCookie := os.Getenv("RELEASE_COOKIE")
	var cookieLen = len(erlangCookie)
	return Settings{Cookie: erlangCookie, Release: releaseCookie, N: cookieLen}
}
