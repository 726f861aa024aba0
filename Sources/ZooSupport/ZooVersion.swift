/// The toolkit's version, written into every file and registry row Zoo produces.
public let zooVersion = "0.1.0"
