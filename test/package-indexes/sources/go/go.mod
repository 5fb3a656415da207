module fixtures.llm-sandbox.test/greet

go 1.21
