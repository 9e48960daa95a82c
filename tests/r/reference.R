# Reference values from R psych for tests/test_index_reference.py.
#
# Usage: Rscript tests/r/reference.R OUTDIR
# Writes plain CSV files (no R packages beyond psych and GPArotation are needed):
#   bfi_data.csv                    psych::bfi, 25 items, complete rows (the Python side reads it)
#   harman_cor.csv                  datasets::Harman74.cor$cov (n.obs = 145)
#   {data}_adequacy.csv             kmo, bartlett_chi2, bartlett_df, bartlett_p, determinant
#   {data}_msa.csv, {data}_eigenvalues.csv
#   {data}_{method}_{rotation}_{what}.csv  what = loadings, structure, phi, communalities, variance
#   bfi_{method}_{rotation}_scores_{regression|bartlett}.csv
#   {data}_parallel.csv             fa.parallel suggested counts (ncomp, nfact) for seed 42
#   bfi_composite.csv, bfi_composite_weights.csv   composite of pc/varimax regression scores
# methods: pc (psych::principal), minres and ml (psych::fa); rotations: none varimax promax oblimin.
suppressPackageStartupMessages({
  library(psych)
  library(GPArotation)
})

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 1) stop("usage: Rscript tests/r/reference.R OUTDIR")
out <- args[[1]]
dir.create(out, showWarnings = FALSE, recursive = TRUE)
wcsv <- function(x, name) write.csv(x, file.path(out, name), row.names = TRUE)

bfi_items <- psych::bfi[, 1:25]
bfi_items <- bfi_items[complete.cases(bfi_items), ]
write.csv(bfi_items, file.path(out, "bfi_data.csv"), row.names = FALSE)
harman <- Harman74.cor$cov
write.csv(harman, file.path(out, "harman_cor.csv"), row.names = TRUE)

datasets <- list(
  bfi = list(r = cor(bfi_items), n = nrow(bfi_items), x = bfi_items),
  harman = list(r = harman, n = Harman74.cor$n.obs, x = NULL)
)
nf <- 5
rotations <- c("none", "varimax", "promax", "oblimin")

for (dname in names(datasets)) {
  d <- datasets[[dname]]
  k <- KMO(d$r)
  b <- cortest.bartlett(d$r, n = d$n)
  wcsv(data.frame(kmo = k$MSA, bartlett_chi2 = b$chisq, bartlett_df = b$df,
                  bartlett_p = b$p.value, determinant = det(d$r)), paste0(dname, "_adequacy.csv"))
  wcsv(data.frame(msa = k$MSAi), paste0(dname, "_msa.csv"))
  wcsv(data.frame(eigenvalue = eigen(d$r)$values), paste0(dname, "_eigenvalues.csv"))

  for (method in c("pc", "minres", "ml")) {
    for (rot in rotations) {
      if (method == "pc") {
        f <- principal(d$r, nfactors = nf, rotate = rot, n.obs = d$n)
        h2 <- f$communality
      } else {
        f <- fa(d$r, nfactors = nf, fm = method, rotate = rot, n.obs = d$n)
        h2 <- f$communality
      }
      L <- unclass(f$loadings)
      Phi <- if (is.null(f$Phi)) diag(nf) else f$Phi
      S <- L %*% Phi
      vx <- if (rot %in% c("none", "varimax")) colSums(L^2) else diag(Phi %*% t(L) %*% L)
      stem <- paste(dname, method, rot, sep = "_")
      wcsv(L, paste0(stem, "_loadings.csv"))
      wcsv(S, paste0(stem, "_structure.csv"))
      wcsv(Phi, paste0(stem, "_phi.csv"))
      wcsv(data.frame(communality = h2), paste0(stem, "_communalities.csv"))
      wcsv(data.frame(ss_loadings = vx), paste0(stem, "_variance.csv"))
      if (!is.null(d$x)) {
        fobj <- list(loadings = L, Phi = Phi)
        for (sm in c("regression", "Bartlett")) {
          sc <- factor.scores(d$x, f = L, Phi = Phi, method = sm)$scores
          wcsv(sc, paste0(stem, "_scores_", tolower(sm), ".csv"))
        }
        if (method == "pc" && rot == "varimax") {
          # Composite as in the applied literature: weights = each factor's share of the
          # rotated SS loadings; composite = scores %*% weights; signed to correlate
          # positively with the mean of the standardized indicators (bfi has no revenue column).
          sc <- factor.scores(d$x, f = L, Phi = Phi, method = "regression")$scores
          w <- vx / sum(vx)
          comp <- as.vector(sc %*% w)
          if (cor(comp, rowMeans(scale(d$x))) < 0) comp <- -comp
          wcsv(data.frame(weight = w), "bfi_composite_weights.csv")
          wcsv(data.frame(composite = comp), "bfi_composite.csv")
        }
      }
    }
  }
  # psych's fa.parallel draws its random data sets with parallel::mclapply; with more than one
  # core the forked workers get their own random streams and the draws change from run to run
  # despite set.seed(). One core: mclapply runs in this process and the draws are reproducible.
  options(mc.cores = 1)
  set.seed(42)
  pdf(NULL)
  p <- if (is.null(d$x)) {
    fa.parallel(d$r, n.obs = d$n, fm = "minres", fa = "both", n.iter = 20, plot = FALSE)
  } else {
    fa.parallel(d$x, fm = "minres", fa = "both", n.iter = 20, plot = FALSE)
  }
  invisible(dev.off())
  wcsv(data.frame(ncomp = p$ncomp, nfact = p$nfact), paste0(dname, "_parallel.csv"))
  wcsv(data.frame(pc_values = p$pc.values, pc_sim = p$pc.sim, fa_values = p$fa.values,
                  fa_sim = p$fa.sim), paste0(dname, "_parallel_values.csv"))
}
# stats::varimax on two tied factors (unrotated axes at ~45 degrees to them): R's stopping rule
# stalls short of the varimax maximum; the Python port reproduces it (tests/test_index_reference.py).
tied <- matrix(c(0.714, 0.710, 0.696, -0.586, -0.586, -0.560,
                 0.565, 0.550, 0.551, 0.687, 0.670, 0.681), ncol = 2)
wcsv(unclass(varimax(tied)$loadings), "tied_varimax.csv")
cat("psych", as.character(packageVersion("psych")), "references written to", out, "\n")
