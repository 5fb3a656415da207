// Package greet is a test fixture of llm-sandbox, served by the suite's local GOPROXY.
package greet

func Greet(name string) string { return "go fixture greets " + name }
