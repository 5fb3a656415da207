greet <- function(name) paste("r fixture greets", name)
