"""The package's structure: what may import what (Local Bedrock imports no client logic) and no
import cycles."""
