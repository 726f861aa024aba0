/// Placeholder until this module lands; see Package.swift for its role.
enum ZooTrainModule {}
