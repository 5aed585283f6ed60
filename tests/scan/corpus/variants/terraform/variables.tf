variable "rabbitmq_erlang_cookie" {
  description = "Erlang cookie for the cluster"
  type        = string
  default     = "tfvarcookie"
}
