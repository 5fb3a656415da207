# llm-sandbox plot capture for R, loaded as R_PROFILE_USER before the program: nothing is added to the program,
# so its output and error locations are its own. Plots go to files in LLM_SANDBOX_PLOTS_DIR (never to stdout):
#  - the default graphics device writes one PNG per page: base graphics (plot, hist, barplot, boxplot, pie,
#    image, curve, …), lattice and ggplot2 printing, anything drawn without opening a device first;
#  - ggsave() also hands its file over;
#  - printed htmlwidgets (plotly) become one self-contained HTML file (no pandoc needed).
# Problems go to _capture.log there. The user's own ~/.Rprofile, if any, still runs.
local({
  dir <- Sys.getenv("LLM_SANDBOX_PLOTS_DIR")
  if (!nzchar(dir)) return(invisible())
  dir.create(dir, showWarnings = FALSE, recursive = TRUE)
  count <- as.integer(Sys.getenv("LLM_SANDBOX_PLOT_START", "0"))
  max_count <- as.integer(Sys.getenv("LLM_SANDBOX_PLOT_MAX_COUNT", "50"))
  max_bytes <- as.numeric(Sys.getenv("LLM_SANDBOX_PLOT_MAX_BYTES", "10485760"))
  plotly_cdn <- Sys.getenv("LLM_SANDBOX_PLOTLY_JS", "cdn") == "cdn"
  formats <- c(png = "png", svg = "svg", pdf = "pdf", jpg = "jpeg", jpeg = "jpeg", html = "html", htm = "html")

  json_string <- function(x) paste0('"', gsub("([\"\\\\])", "\\\\\\1", gsub("\n", " ", x)), '"')
  log_line <- function(kind, message) {
    cat(sprintf('{"kind": %s, "message": %s}\n', json_string(kind), json_string(message)),
        file = file.path(dir, "_capture.log"), append = TRUE)
  }
  next_number <- function() {
    count <<- count + 1L
    count
  }
  # The host empties the directory after every run, so what is in it now is this run's.
  plots_this_run <- function() length(grep("^[0-9]{6}.*[.](png|svg|pdf|jpg|html)$", list.files(dir)))
  write_sidecar <- function(number, fields) {
    body <- paste(sprintf("%s: %s", json_string(names(fields)), unlist(fields)), collapse = ", ")
    writeLines(sprintf("{%s}", body), file.path(dir, sprintf("%06d.json", number)))
  }
  emit_file <- function(path, library, extra = list()) {
    extension <- tolower(tools::file_ext(path))
    format <- formats[extension]
    if (is.na(format)) return(log_line("error", sprintf("%s: format '%s' is not captured (png, svg, pdf, jpeg, html are)", basename(path), extension)))
    if (plots_this_run() >= max_count) return(log_line("truncated", sprintf("more than %d plots in one run; the rest were dropped", max_count)))
    if (file.size(path) > max_bytes) return(log_line("truncated", sprintf("a %s plot of %.0f bytes exceeds the %.0f-byte limit and was dropped", format, file.size(path), max_bytes)))
    number <- next_number()
    write_sidecar(number, c(list(format = json_string(format), library = json_string(library)), extra))
    file.copy(path, file.path(dir, sprintf("%06d.%s", number, if (format == "jpeg") "jpg" else format)))
  }

  # The default device: every page of it is a plot, numbered NNNNNN-PPP.png.
  options(device = function(...) {
    if (plots_this_run() >= max_count) {
      log_line("truncated", sprintf("more than %d plots in one run; the rest were dropped", max_count))
      return(grDevices::pdf(NULL))
    }
    number <- next_number()
    write_sidecar(number, list(format = json_string("png"), library = json_string("r-graphics"), dpi = "100"))
    grDevices::png(file.path(dir, sprintf("%06d-%%03d.png", number)), width = 800, height = 600, res = 100)
  })

  setHook(packageEvent("ggplot2", "onLoad"), function(...) {
    ggsave <- get("ggsave", envir = asNamespace("ggplot2"))
    utils::assignInNamespace("ggsave", function(filename, ...) {
      result <- ggsave(filename, ...)
      tryCatch(emit_file(filename, "ggplot2"), error = function(e) log_line("error", paste("ggsave capture:", conditionMessage(e))))
      invisible(result)
    }, "ggplot2")
  })

  # One HTML file with every script and stylesheet inlined (plotly.js from its CDN unless asked otherwise).
  standalone_html <- function(widget) {
    folder <- tempfile("widget")
    dir.create(folder)
    on.exit(unlink(folder, recursive = TRUE))
    page <- file.path(folder, "index.html")
    htmlwidgets::saveWidget(widget, page, selfcontained = FALSE, libdir = "lib")
    html <- readLines(page, warn = FALSE)
    inline <- function(lines, pattern, make) {
      for (i in grep(pattern, lines)) {
        ref <- sub(pattern, "\\1", lines[i])
        if (plotly_cdn && grepl("plotly-[^/]*[.]min[.]js$", ref)) {
          version <- sub(".*plotly-(?:main|htmlwidgets)?-?([0-9.]+).*", "\\1", ref, perl = TRUE)
          lines[i] <- sprintf('<script src="https://cdn.plot.ly/plotly-%s.min.js"></script>', version)
        } else {
          lines[i] <- make(paste(readLines(file.path(folder, ref), warn = FALSE), collapse = "\n"))
        }
      }
      lines
    }
    html <- inline(html, '.*<script src="([^"]+)"></script>.*', function(code) paste0("<script>", code, "</script>"))
    html <- inline(html, '.*<link href="([^"]+)" rel="stylesheet" />.*', function(css) paste0("<style>", css, "</style>"))
    out <- tempfile(fileext = ".html")
    writeLines(html, out)
    out
  }

  setHook(packageEvent("htmlwidgets", "onLoad"), function(...) {
    registerS3method("print", "htmlwidget", function(x, ...) {
      tryCatch({
        path <- standalone_html(x)
        extra <- list()
        if (inherits(x, "plotly") && requireNamespace("jsonlite", quietly = TRUE)) {
          built <- plotly::plotly_build(x)$x
          extra$plotly <- as.character(jsonlite::toJSON(built[c("data", "layout")], auto_unbox = TRUE, null = "null", na = "null", force = TRUE))
        }
        emit_file(path, if (inherits(x, "plotly")) "plotly" else "htmlwidgets", extra)
        unlink(path)
      }, error = function(e) log_line("error", paste("htmlwidget capture:", conditionMessage(e))))
      invisible(x)
    }, envir = asNamespace("htmlwidgets"))
  })

  user_profile <- Sys.getenv("R_PROFILE_USER_ORIGINAL", path.expand("~/.Rprofile"))
  if (file.exists(user_profile)) sys.source(user_profile, envir = globalenv())
})
