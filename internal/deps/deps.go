//go:build tools

// Package deps pins the modules statusbridge is built from while its packages
// are being written. Remove once every module is imported by real code.
package deps

import (
	_ "github.com/Azure/azure-sdk-for-go/sdk/azcore"
	_ "github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	_ "github.com/go-redis/redis_rate/v10"
	_ "github.com/gorilla/websocket"
	_ "github.com/kyokomi/emoji/v2"
	_ "github.com/microsoft/kiota-abstractions-go"
	_ "github.com/microsoft/kiota-authentication-azure-go"
	_ "github.com/microsoft/kiota-http-go"
	_ "github.com/microsoftgraph/msgraph-sdk-go"
	_ "github.com/microsoftgraph/msgraph-sdk-go-core"
	_ "github.com/microsoftgraph/msgraph-sdk-go/models"
	_ "github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	_ "github.com/microsoftgraph/msgraph-sdk-go/users"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/redis/go-redis/v9"
	_ "github.com/slack-go/slack"
	_ "github.com/slack-go/slack/slackevents"
	_ "github.com/slack-go/slack/socketmode"
	_ "go.etcd.io/bbolt"
)
