Gem::Specification.new do |spec|
  spec.name = "llm_sandbox_fixture"
  spec.version = "1.0.0"
  spec.summary = "Test fixture of llm-sandbox: served by the suite's local gem source."
  spec.authors = ["llm-sandbox"]
  spec.license = "MIT"
  spec.files = ["lib/llm_sandbox_fixture.rb"]
end
