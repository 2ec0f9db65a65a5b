package views

import (
	"context"
	"errors"
)

// AssetURLs names the URLs of the files pages load, by logical name ("app.css",
// "editor.js", "pyodide/"). The handlers give the *static.Dist they serve /static/
// from, so a page links to exactly the build that is served.
type AssetURLs interface {
	URL(name string) string
}

// assetsKey is the context key of the AssetURLs.
type assetsKey struct{}

// WithAssets returns ctx carrying the asset URLs pages link to; render every page with
// such a context. They travel in the context, as templ's CSP nonce does, rather than
// in each view model: every page needs some, which ones is the view's business, and
// where they live is the server's.
func WithAssets(ctx context.Context, a AssetURLs) context.Context {
	return context.WithValue(ctx, assetsKey{}, a)
}

// errNoAssets fails a render whose context has no AssetURLs, rather than let a page
// link to nothing without anyone noticing.
var errNoAssets = errors.New("views: no asset URLs in the context (render with views.WithAssets)")

// assetURL is the URL of a logical asset name, from the AssetURLs in ctx.
func assetURL(ctx context.Context, name string) (string, error) {
	a, ok := ctx.Value(assetsKey{}).(AssetURLs)
	if !ok {
		return "", errNoAssets
	}
	return a.URL(name), nil
}
