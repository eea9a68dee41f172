"""Code shared by the templates of one family (RNNs, HMMs, ...); templates live one level up."""
