module LlmSandboxFixture
  def self.greet(name) = "ruby fixture greets #{name}"
end
