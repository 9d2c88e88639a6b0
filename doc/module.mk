MAN5 += doc/man/xenvm.yaml.5 doc/man/images.yaml.5
