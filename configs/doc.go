// Package configs holds the deployment files of pulso: the Docker Compose stack
// (compose.yaml with Traefik, PostgreSQL, Redis, the Pushgateway, Prometheus and
// Grafana), the configuration each of those services mounts from here, and the
// example configuration file. It has no code; its tests load compose.yaml with the
// Compose specification's reference loader and check the properties the stack relies
// on (the Kubernetes manifests have their own package and tests in k8s/).
package configs
