package waterfall

import (
	_ "embed"
	"html/template"
)

// The page's parts. They are plain CSS and JavaScript, inlined into every
// page, so there is nothing to build and nothing to fetch.
var (
	//go:embed assets/style.css
	assetStyle string
	//go:embed assets/waterfall.js
	assetWaterfallJS string
	//go:embed assets/page.js
	assetPageJS string
	//go:embed assets/live.js
	assetLiveJS string
	//go:embed assets/page.html
	assetPageHTML string
	//go:embed assets/live.html
	assetLiveHTML string
)

var (
	pageTemplate = template.Must(template.New("page").Parse(assetPageHTML))
	liveTemplate = template.Must(template.New("live").Parse(assetLiveHTML))
)
