package deps

import (
	_ "github.com/BurntSushi/toml"
	_ "github.com/eclipse/paho.mqtt.golang"
	_ "github.com/goreleaser/nfpm/v2"
	_ "github.com/minio/minio-go/v7"
	_ "github.com/mochi-mqtt/server/v2"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "go.etcd.io/bbolt"
	_ "gonum.org/v1/gonum/mat"
	_ "gonum.org/v1/gonum/optimize"
)
