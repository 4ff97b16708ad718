"""The local AWS emulator: moto on loopback, its compatibility additions, `gitops local`."""
