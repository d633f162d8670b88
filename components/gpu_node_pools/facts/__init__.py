"""Static fact tables with lookups: EKS AMI types and EC2 instance types."""
